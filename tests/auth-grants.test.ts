/**
 * src/app/auth/grants.ts: what the `broker` claim grants. A property test compares `allows` with
 * a reference written here from the README's words (a grant covers its topic and every topic
 * below it, segment by segment; `*` covers all), for random grant lists and topics built from a
 * small alphabet, so that near misses (`chat` and `chatter`, `a/b` and `a/bc`) come up often.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ACTIONS, NO_GRANTS, allows, grantsFromPayload, type Action } from '../src/app/auth/grants.ts';

/** The reference: the topic's segments start with all of the grant's segments. */
function referenceAllows(grantList: readonly unknown[], topic: string): boolean {
  const topicSegments = topic.split('/');
  return grantList.some((grant) => {
    if (typeof grant !== 'string') return false;
    if (grant === '*') return true;
    const grantSegments = grant.split('/');
    if (grantSegments.length > topicSegments.length) return false;
    return grantSegments.every((segment, i) => segment === topicSegments[i]);
  });
}

const segment = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', '*', '.'), minLength: 1, maxLength: 3 });
const topic = fc.array(segment, { minLength: 1, maxLength: 5 }).map((segments) => segments.join('/'));
const grantEntry = fc.oneof(topic, fc.constant('*'), fc.constantFrom('', 'a/', '/a', 'a//b'), fc.integer(), fc.constant(null));
const grantLists = fc.record({
  sub: fc.array(grantEntry, { maxLength: 4 }),
  pub: fc.array(grantEntry, { maxLength: 4 }),
  bus: fc.array(grantEntry, { maxLength: 4 }),
  push: fc.array(grantEntry, { maxLength: 4 }),
  pull: fc.array(grantEntry, { maxLength: 4 }),
});

describe('grants', () => {
  it('a grant covers its topic and every topic below it, never a sibling that shares a prefix', () => {
    const grants = grantsFromPayload({ broker: { sub: ['chat', 'news/local'] } });
    for (const covered of ['chat', 'chat/room1', 'chat/room1/deep/er', 'news/local', 'news/local/x']) assert.equal(allows(grants, 'sub', covered), true, covered);
    for (const notCovered of ['chatter', 'cha', 'news', 'news/localx', 'news/other', 'x/chat']) assert.equal(allows(grants, 'sub', notCovered), false, notCovered);
  });

  it('"*" covers every topic, for its action only', () => {
    const grants = grantsFromPayload({ broker: { pub: ['*'] } });
    assert.equal(allows(grants, 'pub', 'anything/at/all'), true);
    for (const action of ACTIONS.filter((a) => a !== 'pub')) assert.equal(allows(grants, action, 'anything'), false, action);
  });

  it('grants deep in the hierarchy cover nothing above them', () => {
    const grants = grantsFromPayload({ broker: { pull: ['a/b/c/d/e/f'] } });
    assert.equal(allows(grants, 'pull', 'a/b/c/d/e/f/g'), true);
    assert.equal(allows(grants, 'pull', 'a/b/c/d/e'), false);
    assert.equal(allows(grants, 'pull', 'a'), false);
  });

  it('anything malformed grants nothing', () => {
    for (const payload of [{}, { broker: null }, { broker: [] }, { broker: 'all' }, { broker: { sub: 'chat' } }, { broker: { sub: [1, null, {}] } }]) {
      const grants = grantsFromPayload(payload);
      for (const action of ACTIONS) assert.equal(allows(grants, action, 'chat'), false, `${JSON.stringify(payload)} ${action}`);
      assert.equal(grants.admin, false);
    }
    assert.equal(grantsFromPayload({ broker: { admin: 'yes' } }).admin, false);
    assert.equal(grantsFromPayload({ broker: { admin: 1 } }).admin, false);
    assert.equal(grantsFromPayload({ broker: { admin: true } }).admin, true);
    assert.deepEqual(grantsFromPayload({ broker: { sub: ['a', 7, 'b'] } }).topics.sub, ['a', 'b']);
    assert.equal(NO_GRANTS.admin, false);
  });

  it('property: the decision equals the reference, for every action', () => {
    fc.assert(
      fc.property(grantLists, topic, fc.boolean(), (lists, name, admin) => {
        const grants = grantsFromPayload({ broker: { ...lists, admin } });
        for (const action of ACTIONS as readonly Action[]) {
          assert.equal(allows(grants, action, name), referenceAllows(lists[action], name), `${action} ${JSON.stringify(lists[action])} on ${JSON.stringify(name)}`);
        }
        assert.equal(grants.admin, admin);
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * `topics` of `/stats`, kept as topics come and go instead of counted on each call: the distinct
 * names that hold a subscriber, a bus peer, a puller or a queued push, one name used by several
 * kinds counting once. Building a set of every name per `/stats` blocked the event loop for
 * 0.7 s with a million push topics; this costs a few map lookups per topic created or removed.
 */

/** What each registry (subscriptions, bus, push/pull) tells the count. */
export interface TopicEvents {
  /** `name` got its entry in this registry (it holds something now). */
  created(name: string): void;
  /** `name` lost its entry in this registry. */
  deleted(name: string): void;
}

export class TopicCount implements TopicEvents {
  #count = 0;

  /** `holds`: one lookup per registry, true when that registry has an entry for the name. */
  constructor(private readonly holds: ReadonlyArray<(name: string) => boolean>) {}

  get count(): number {
    return this.#count;
  }

  created(name: string): void {
    // Called after the registry added it: new to the count only if no other registry had it.
    if (this.#holders(name) === 1) this.#count++;
  }

  deleted(name: string): void {
    // Called after the registry removed it: gone from the count only if no registry has it.
    if (this.#holders(name) === 0) this.#count--;
  }

  #holders(name: string): number {
    let holders = 0;
    for (let i = 0; i < this.holds.length; i++) if (this.holds[i]!(name)) holders++;
    return holders;
  }
}

/**
 * A cheaper way in for frames on the broker's own socket routes. `socketEvents` puts a handler
 * under `DIRECT_FRAME` on the events it returns; a runtime adapter that knows the key calls it
 * with each whole frame as a `BrokerMessage` instead of building a `MessageEvent` for
 * `onMessage`, and without the size check (the adapter's runtime must already enforce
 * `maxMessageSize`, as `ws`'s `maxPayload` does). A host's own `upgradeWebSocket`, which knows
 * nothing of the key, keeps using `onMessage`; both paths end in the same role handlers.
 *
 * Events that carry the key ask less of the adapter in return, so an idle connection costs it
 * less memory: `onClose` may be given a new `WSContext` for the same socket (the handlers keep
 * what they need from `onOpen`), and `onMessage` is never called.
 */
import type { BrokerMessage } from '../message.ts';

export const DIRECT_FRAME: unique symbol = Symbol('broker-hono direct frame');

export type DirectFrameHandler = (message: BrokerMessage) => void;

export interface DirectFrameEvents {
  [DIRECT_FRAME]?: DirectFrameHandler;
}

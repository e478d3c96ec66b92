/**
 * Requests a broker must refuse, and requests a client leaves half sent: shared by the tests of
 * issue 15's findings 6 and 9 and by the hostile-load test.
 */
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const WEBSOCKET = `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`;

/** Requests every runtime must answer with a 4xx JSON body. */
export const BAD_REQUESTS = [
  'GET /stats HTTP/1.1\r\nHost: a b\r\n\r\n',
  'GET /nothing HTTP/1.1\r\nHost: a b\r\n\r\n',
  'GET /nothing HTTP/1.1\r\nHost: x:99999\r\n\r\n',
  'GET /nothing HTTP/1.1\r\nHost: x:99999\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n',
  'GET /sub/a HTTP/1.1\r\nHost: x:99999\r\nAccept: text/event-stream\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n',
  `GET /sub/a HTTP/1.1\r\nHost: x:99999\r\n${WEBSOCKET}\r\n`,
  `GET /sub/a HTTP/1.1\r\nHost: a b\r\n${WEBSOCKET}\r\n`,
  'GET /sub/a HTTP/1.1\r\nHost: a b\r\nAccept: text/event-stream\r\n\r\n',
  'POST /pub/a HTTP/1.1\r\nHost: x:99999\r\nContent-Length: 2\r\n\r\nhi',
  'POST /nothing HTTP/1.1\r\nHost: a%b\r\nContent-Length: 2\r\n\r\nhi',
  'CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n',
  'CONNECT /sub/a HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a\\b HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /pub/a\\..\\b HTTP/1.1\r\nHost: x\r\n\r\n',
];

/** Node's own: Bun answers `OPTIONS *` in its parser (a bare 400) and completes HTTP/1.0 upgrades. */
export const NODE_ONLY_BAD_REQUESTS = [
  'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
  `GET /sub/a HTTP/1.0\r\nHost: x\r\n${WEBSOCKET}\r\n`,
];

/** Half-sent requests whose client then leaves (closed or reset): none may be logged. */
export const LEAVING_REQUESTS = [
  'GET /stats HTTP/1.1\r\nHost: x\r\nX-Half: y',
  'POST /pub/leave HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf a body',
  'POST /pub/leave HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nab',
  `GET /sub/leave HTTP/1.1\r\nHost: x\r\n${WEBSOCKET}`,
];

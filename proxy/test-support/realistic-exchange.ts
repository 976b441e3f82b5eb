/**
 * Issue 14's "realistic heads" for flight recorder depth: a browser-like request and an API
 * answer (578 bytes of raw heads), with repeated headers plus per-request ids and a clock that
 * changes every second at 100 exchanges/s. Both recorders are measured with it (js:
 * proxy/exchange-events.test.ts, C++: test/native-recorder-depth.test.ts).
 */
export function realisticExchange(i: number): [request: string, response: string] {
  return [
    `GET /api/v1/orders/${1000 + (i % 500)}?page=${i % 7} HTTP/1.1\r\nHost: shop.example.com\r\n` +
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n' +
      'Accept: application/json, text/plain, */*\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n' +
      `X-Request-Id: ${(0x10000000 + i * 7919).toString(16)}-4f1c-4b7e-9a1d-${(0x100000000000 + i * 104729).toString(16)}\r\n` +
      `traceparent: 00-${(0x1000000000000000n + BigInt(i) * 15485863n).toString(16).padStart(32, '0')}-${(0x100000000 + i).toString(16).padStart(16, '0')}-01\r\n\r\n`,
    'HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n' +
      `Date: Sun, 06 Dec 2026 12:${String(Math.floor(i / 100) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} GMT\r\n` +
      'Cache-Control: no-store\r\nServer: envoy\r\n\r\n{}',
  ];
}

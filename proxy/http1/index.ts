/**
 * HTTP/1 observation: `createHttp1Observer` follows one HTTP/1.x connection from views of the
 * forwarded bytes and reports exchanges to an `ExchangeSink` (contract: proxy/observe.ts).
 */
export { createHttp1Observer, GAVE_UP_ERROR, UPGRADED_ERROR } from './observer.js';

/** `meshtap dashboard`: the local server acting as the user, and the page it serves (DESIGN §12). */
export { startDashboardServer, defaultAssetsDir, MAX_POST_BYTES } from './server.js';
export type { DashboardServer, DashboardServerOptions } from './server.js';
export type { DashboardConnection } from './connection.js';
export { parseQuery, cliCommand } from './query.js';
export { splitQuery, joinQuery, quoteWord, appendFilter } from './query-text.js';
export { hostAllowed, originAllowed, isLoopbackHost, SECRET_PARAM } from './security.js';
export type { DashboardLine, DashboardConfig, ExportRequest } from './wire.js';

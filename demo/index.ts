/** The local demo mesh (`meshtap demo`) and its services, also used by tests. */
export { startDemoMesh } from './mesh.js';
export type { DemoMesh, DemoMeshOptions, DemoWorkload } from './mesh.js';
export { startEmojiService, startVotingService, startWebService, loadDemoProto, EMOJI } from './services.js';
export type { RunningService } from './services.js';
export { startDemoControlPlane } from './control-plane.js';
export type { DemoControlPlane } from './control-plane.js';

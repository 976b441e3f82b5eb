/** The local demo mesh (`meshtap demo`), also used by tests. Its services are its own business. */
export { startDemoMesh } from './mesh.js';
export type { DemoMesh } from './mesh.js';
export { startDemoControlPlane } from './control-plane.js';
export type { DemoControlPlane } from './control-plane.js';

/**
 * Request targets and their route templates: the table route-template.test.ts checks, and the
 * native engine's C++ port is held to (test/native-metrics-labels.test.ts).
 */
import { OTHER_ROUTE } from './route-template.js';

export const ROUTE_TEMPLATE_CASES: ReadonlyArray<readonly [string, string]> = [
    ['/users/123', '/users/{id}'],
    ['/users/456', '/users/{id}'],
    ['/users/123/orders/9?expand=1', '/users/{id}/orders/{id}'],
    ['/users/5f0c7a2e-8d1b-4c3a-9e2f-0a1b2c3d4e5f', '/users/{id}'],
    ['/blobs/0123abcdef', '/blobs/{id}'],
    ['/blobs/0123ABCDEF/raw', '/blobs/{id}/raw'],
    ['/sessions/eyJhbGciOiJIUzI1NiJ9abc123XYZ_-q', '/sessions/{id}'],
    ['/api/vote', '/api/vote'],
    ['/api/v1/list', '/api/v1/list'],
    ['/deadbeef', '/deadbeef'], // hex letters only: a word, not an id
    ['/facade/cafe', '/facade/cafe'],
    ['/abc123', '/abc123'], // short mixed segment: a name
    ['/', '/'],
    ['/?q=1', '/'],
    ['/users/', '/users/'],
    ['//x//1', '//x//{id}'],
    ['/a#frag', '/a'],
    ['http://web.shop/users/77?x', '/users/{id}'],
    ['http://web.shop', '/'],
    ['*', '*'],
    ['web.shop:443', OTHER_ROUTE],
    ['/caf%C3%A9/12', '/caf%C3%A9/{id}'],
    // Tokens in path segments never become route labels (session 6, redact): a JWT, base64 with
    // padding, a percent-encoded token; a dotted file name that is no JWT stays.
    ['/verify/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', '/verify/{id}'],
    ['/dl/aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRva2Vu+abc12==/raw', '/dl/{id}/raw'],
    ['/t/abc%2Fdef%2B0123456789xyzXYZ', '/t/{id}'],
    ['/static/app.bundle.min.v12345678.js', '/static/app.bundle.min.v12345678.js'],
    ['/docs/eyJ.not.a.token.but.dotted123456', '/docs/eyJ.not.a.token.but.dotted123456'],
];

/** gRPC paths are routes as they are, without a query. */
export const GRPC_ROUTE_CASES: ReadonlyArray<readonly [string, string]> = [
  ['/emojivoto.v1.VotingService/VoteDoughnut', '/emojivoto.v1.VotingService/VoteDoughnut'],
  ['/pkg.S/M123456789?x', '/pkg.S/M123456789'],
];

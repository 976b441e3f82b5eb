import { describe, expect, it } from 'vitest';
import { GRPC_ROUTE_CASES, ROUTE_TEMPLATE_CASES } from './route-template.cases.js';
import { MAX_ROUTE_CHARS, OTHER_ROUTE, routeTemplate } from './route-template.js';

describe('routeTemplate', () => {
  it.each(ROUTE_TEMPLATE_CASES)('%s -> %s', (path, route) => {
    expect(routeTemplate(path)).toBe(route);
  });

  it('keeps gRPC methods as they are, without a query', () => {
    for (const [path, route] of GRPC_ROUTE_CASES) expect(routeTemplate(path, true)).toBe(route);
  });

  it('folds routes too long to be a label into [other]', () => {
    expect(routeTemplate('/' + 'a'.repeat(MAX_ROUTE_CHARS))).toBe(OTHER_ROUTE);
    expect(routeTemplate('/' + 'a'.repeat(MAX_ROUTE_CHARS - 2))).toBe('/' + 'a'.repeat(MAX_ROUTE_CHARS - 2));
  });
});

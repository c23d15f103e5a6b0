import { Hono } from 'hono';
import type { OpenApiDocument } from '../openapi/openapi-document.ts';
import { ReferencePage } from '../openapi/reference-page.tsx';
import { describeRoute } from '../openapi/route-doc.ts';
import { ROUTE_DOCS } from './admin-route-docs.ts';

/**
 * GET /openapi.json and GET /reference (the same document for people). Both are public: they
 * describe routes, not this node or its data, are the same on every node of a version, and
 * every route they list keeps its own guard. The document is built once, on first request,
 * from the app's route table (`document()`), so it lists exactly what this node serves.
 */
export function createApiDocRoutes(document: () => OpenApiDocument): Hono {
  const app = new Hono();
  app.get('/openapi.json', describeRoute(ROUTE_DOCS.openapi), (c) => c.json(document()));
  app.get('/reference', describeRoute(ROUTE_DOCS.reference), (c) => {
    const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    c.header('Content-Security-Policy', `default-src 'none'; style-src 'nonce-${nonce}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    return c.html(<ReferencePage doc={document()} nonce={nonce} documentUrl="/openapi.json" backLink={{ href: '/', label: '← dashboard' }} />);
  });
  return app;
}

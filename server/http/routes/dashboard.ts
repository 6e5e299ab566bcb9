import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { dashboardDir } from '../../paths.js';

/** The dashboard's files besides its page; anything else under /ui is an unknown route (404). */
const ASSETS = ['dashboard.js', 'dom.js', 'nodes-panel.js', 'policy-panel.js', 'dashboard.css'];

/**
 * The page shows text that registered services wrote (output, tags, ids). It only ever sets
 * that text with textContent; this policy is the second line: no inline script, nothing loaded
 * or sent anywhere but this origin, no framing.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The dashboard at /ui: a static page that reads /v1 with blocking queries from the browser
 * (docs/dashboard.md). The files stay open with --acl, since the page asks for a token itself,
 * and out of the OpenAPI document, which describes the API only.
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  // Only for reply.sendFile (ETag, Last-Modified, 304s): the routes are declared here so each
  // one carries its access and is hidden from the API description.
  await app.register(fastifyStatic, { root: dashboardDir, serve: false });
  const route = { schema: { hide: true }, config: { access: 'open' as const } };
  const send = (reply: FastifyReply, file: string) => reply.headers(PAGE_HEADERS).sendFile(file);

  for (const url of ['/ui', '/ui/']) app.get(url, route, (_request, reply) => send(reply, 'index.html'));
  for (const file of ASSETS) app.get(`/ui/${file}`, route, (_request, reply) => send(reply, file));
};

import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { createRequire } from 'node:module'
import { Hono } from 'hono'

// Served from the installed swagger-ui-dist package: the machines we run on may have no internet, so no CDN.
const require = createRequire(import.meta.url)
const assetsDir = path.dirname(require.resolve('swagger-ui-dist/package.json'))
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Alfa Cloud API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', presets: [SwaggerUIBundle.presets.apis] })</script>
</body></html>`

/** GET /docs: the OpenAPI document rendered by Swagger UI. */
export function docsPage() {
  const app = new Hono()
  app.get('/docs', (c) => c.html(PAGE))
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file')
    const type = ASSETS[file]
    if (!type) return c.notFound()
    c.header('Content-Type', type)
    c.header('Cache-Control', 'public, max-age=3600')
    return c.body(await readFile(path.join(assetsDir, file)))
  })
  return app
}

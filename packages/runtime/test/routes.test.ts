// Service.routes: the public route table as Fastify registered it, which the fuzz tests walk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createService, EnvReader, readServiceSettings } from '../src/index.js';

test('routes lists every method of every public route, those of plugins included, with their schemas', async () => {
  const service = createService({
    tier: 'routes-test',
    settings: readServiceSettings(new EnvReader({ LOG_LEVEL: 'silent' }), { adminPort: 0 }),
  });
  const schema = { querystring: { type: 'object', properties: { q: { type: 'string' } } } };
  service.app.get('/top', { schema }, async () => 'top');
  await service.app.register(
    async (plugin) => {
      plugin.post('/inner', async () => 'inner');
    },
    { prefix: '/plugin' },
  );
  await service.app.ready();
  try {
    assert.deepEqual(
      service.routes.map((r) => `${r.method} ${r.url}`),
      ['GET /top', 'HEAD /top', 'POST /plugin/inner'],
    );
    assert.deepEqual(service.routes[0]?.schema, schema);
    assert.ok(!service.routes.some((r) => r.url === '/readyz'), 'the admin server is not public');
  } finally {
    await service.app.close();
    await service.admin.close();
  }
});

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { describe as describeContainer } from '../src/local/containers.js';
import { assertPortsFree } from '../src/local/ports.js';

const listen = (): Promise<{ server: Server; port: number }> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });

const running = (service: string) =>
  describeContainer({
    Id: service,
    Name: `/tier-${service}-1`,
    Config: {
      Image: 'localhost/tier-edge:v1',
      Labels: { 'com.docker.compose.service': service, 'com.docker.compose.container-number': '1' },
    },
    State: { Status: 'running', Running: true, ExitCode: 0 },
    Created: '2026-03-01T10:00:00Z',
  });

describe('assertPortsFree', () => {
  let held: { server: Server; port: number };
  let free: number[];
  before(async () => {
    held = await listen();
    // Ports known free: opened, then closed again.
    const spare = await Promise.all([listen(), listen()]);
    free = spare.map((s) => s.port);
    await Promise.all(spare.map((s) => new Promise((r) => s.server.close(r))));
  });
  after(() => held.server.close());

  it('passes when every published port can be opened', async () => {
    await assertPortsFree({ EDGE_PORT: String(free[0]), API_PORT: String(free[1]), PROM_PORT: String(free[0]) }, []);
  });

  it('names the port, what it is for, and the setting that moves it, when another program holds it', async () => {
    const settings = { EDGE_PORT: String(held.port), API_PORT: String(free[0]), PROM_PORT: String(free[1]) };
    await assert.rejects(assertPortsFree(settings, []), (err: Error & { hint?: string }) => {
      assert.equal(err.name, 'TierError');
      assert.match(err.message, new RegExp(`^127\\.0\\.0\\.1:${held.port}, for the edge, is in use`));
      assert.match(err.hint ?? '', /EDGE_PORT=<free port> npx tier up/);
      assert.doesNotMatch(err.hint ?? '', /API_PORT|PROM_PORT/);
      return true;
    });
  });

  it('accepts a port its own running container holds (tier up again, on a running environment)', async () => {
    const settings = { EDGE_PORT: String(held.port), API_PORT: String(free[0]), PROM_PORT: String(free[1]) };
    await assertPortsFree(settings, [running('edge')]);
  });
});

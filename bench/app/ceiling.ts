// The ceiling for GET /api/status: a bare node:http server answering the same query through one pg
// pool, with none of the framework's work (routing, validation, hooks, logs, metrics, headers).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';

const env = process.env;
const pool = new pg.Pool({
  host: env.DBHOST,
  port: Number(env.DBPORT ?? 5432),
  database: env.DB,
  user: env.DBUSER,
  password: env.DBPASS,
  max: 10, // the API's default DB_POOL_MAX
});
pool.on('error', () => undefined);
const NOW = { name: 'api-status-now', text: 'SELECT now() AS time' };

const server = createServer((req, res) => {
  pool.query<{ time: Date }>(NOW).then(
    ({ rows }) => {
      const body = JSON.stringify([{ time: rows[0]!.time.toISOString(), request_uuid: randomUUID() }]);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
    },
    () => res.writeHead(503).end(),
  );
  req.resume();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', port: (server.address() as { port: number }).port }));
});
process.once('SIGTERM', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});

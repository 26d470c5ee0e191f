// Entry point of the web tier: `npm start -w apps/web`, configured only by environment variables.
import { startOrExit } from '@tier/runtime';
import { buildWebService } from './app.js';
import { readWebSettings } from './config.js';

await startOrExit(async () => {
  const service = await buildWebService(readWebSettings());
  service.handleSignals();
  await service.listen();
});

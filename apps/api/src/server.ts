// Entry point of the API tier (`npm start -w apps/api`): configure from the environment, listen, drain on SIGTERM.
import { EnvReader, startOrExit } from '@tier/runtime';
import { buildApi } from './app.js';
import { readApiConfig } from './config.js';

await startOrExit(async () => {
  const config = readApiConfig(new EnvReader());
  const api = await buildApi(config);
  api.handleSignals();
  await api.listen();
});

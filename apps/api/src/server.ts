// Entry point of the API tier (`npm start -w apps/api`): configure from the environment, listen, drain on SIGTERM.
import { EnvReader, startOrExit } from '@tier/runtime';
import { buildApi } from './app.js';
import { readApiConfig } from './config.js';
import { readFaultSettings } from './fault.js';

await startOrExit(async () => {
  const env = new EnvReader();
  // Read before the API's settings: their check() reports this one's problems too.
  const fault = readFaultSettings(env);
  const config = readApiConfig(env);
  const api = await buildApi(config, { fault });
  api.handleSignals();
  await api.listen();
});

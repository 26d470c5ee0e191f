export { cachedLookup } from './cached-lookup.js';
export {
  ConfigError,
  DEFAULT_ADMIN_PORTS,
  EnvReader,
  readServiceSettings,
  type ServiceSettings,
} from './config.js';
export { createLogger, type Logger } from './logger.js';
export { createMetrics, type HttpMetrics } from './metrics.js';
export { createService, type RouteEntry, type Service, type ServiceOptions } from './service.js';
export { startOrExit } from './start.js';

export { createApp, type AppDeps } from './app.ts'
export { loadConfig, type MasterConfig } from './config.ts'
export { createLogger } from './logger.ts'
export { systemClock, type Clock } from './clock.ts'

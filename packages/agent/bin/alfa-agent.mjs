#!/usr/bin/env node
// The package's "bin": plain JavaScript so `alfa-agent` runs without a build step. It registers tsx's ESM loader
// in this process, then imports the TypeScript entry.
import { register } from 'tsx/esm/api'

register()
await import('./alfa-agent.ts')

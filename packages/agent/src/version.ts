import pkg from '../package.json' with { type: 'json' }

/** This agent's release, announced in hello and at enrollment: the package version, so there is one place to bump. */
export const AGENT_VERSION: string = pkg.version

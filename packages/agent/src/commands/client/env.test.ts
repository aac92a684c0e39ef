import { describe, expect, it } from 'vitest'
import { containerEnv, successorEnv } from './env.ts'
import { stepWireError } from './steps.ts'
import { ExecError } from '../../exec.ts'

describe('client container environment', () => {
  const values = {
    dbConnection: 'mysql',
    dbHost: '172.17.0.1',
    dbPort: '3306',
    dbName: 'alfa_acme',
    dbUser: 'alfa_acme',
    dbPassword: 'pw',
    url: 'http://a.test',
    version: '1.0.0',
  }

  it('fills profile placeholders and lets the agent own DB_* and APP_*', () => {
    const env = containerEnv({ DB_HOST: 'evil.example', CACHE_URL: 'redis://{dbHost}:6379', KEEP: '{unknown}' }, values)
    expect(env).toMatchObject({
      DB_HOST: '172.17.0.1',
      CACHE_URL: 'redis://172.17.0.1:6379',
      KEEP: '{unknown}',
      DB_PASSWORD: 'pw',
      APP_VERSION: '1.0.0',
    })
  })

  it('names the step in a failure message and its data', () => {
    const wire = stepWireError('migrate', new ExecError('node exited with code 1', ['node', 'x'], 1, 'boom'))
    expect(wire).toMatchObject({
      code: 'EXEC_FAILED',
      message: 'migrate failed: node exited with code 1',
      data: { step: 'migrate', exitCode: 1 },
    })
    expect(stepWireError('health', new Error('no 2xx'))).toMatchObject({
      code: 'INTERNAL',
      message: 'health failed: no 2xx',
      data: { step: 'health' },
    })
  })

  it("carries the old container's own variables to its successor, not its image's, with the new version", () => {
    const imageEnv = ['PATH=/usr/bin', 'APP_VERSION=1.0.0', 'BUILD=1.0.0']
    const env = successorEnv([...imageEnv, 'DB_PASSWORD=a=b', 'APP_URL=http://a.test'], imageEnv, '2.0.0')
    expect(env).toEqual({ DB_PASSWORD: 'a=b', APP_URL: 'http://a.test', APP_VERSION: '2.0.0' })
    expect(successorEnv(['APP_VERSION=custom-1', 'X=1'], [], undefined)).toEqual({ X: '1' })
  })
})

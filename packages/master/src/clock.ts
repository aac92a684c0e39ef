/** Time source passed in through factories so schedulers and token expiry can be tested with a controllable clock. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

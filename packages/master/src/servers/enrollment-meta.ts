/** Names that reach only the machine they are used on: another server's agent cannot reach the master by them. */
const LOOPBACK_HOST = /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i

/**
 * meta.enrollment as POST /servers and POST /servers/{id}/enrollment return it: the token is shown this once. When
 * the master URL in the command is the request's own origin (ALFA_PUBLIC_URL unset) and that is a loopback name,
 * as for a first server created with `curl localhost:8080`, a warning says the command will not work elsewhere.
 */
export function enrollmentMeta(issued: { token: string; expiresAt: Date }, masterUrl: string, configured: boolean) {
  const loopback = !configured && LOOPBACK_HOST.test(new URL(masterUrl).hostname)
  return {
    enrollment: {
      token: issued.token,
      expiresAt: issued.expiresAt.toISOString(),
      command: `alfa-agent enroll --master ${masterUrl} --token ${issued.token}`,
      ...(loopback
        ? {
            warning:
              `${masterUrl} is this request's own address, which only this machine reaches: on another server ` +
              `give --master an address it can reach, or set ALFA_PUBLIC_URL on the master`,
          }
        : {}),
    },
  }
}

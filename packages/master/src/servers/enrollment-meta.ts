/** meta.enrollment as POST /servers and POST /servers/{id}/enrollment return it: the token is shown this once. */
export function enrollmentMeta(issued: { token: string; expiresAt: Date }, masterUrl: string) {
  return {
    enrollment: {
      token: issued.token,
      expiresAt: issued.expiresAt.toISOString(),
      command: `alfa-agent enroll --master ${masterUrl} --token ${issued.token}`,
    },
  }
}

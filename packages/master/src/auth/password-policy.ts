/** Minimum strength for passwords we set (the API's admin password, later a laboratory owner's). */
export const MIN_PASSWORD_LENGTH = 12
export const MAX_PASSWORD_LENGTH = 256

/**
 * Returns why a password is too weak, or undefined when it is acceptable: at least 12 characters and three of
 * lower case, upper case, digits and symbols (or 20+ characters of anything), not containing the login.
 */
export function passwordWeakness(password: string, login?: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`
  if (password.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`
  if ([...password].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    return 'must not contain control characters'
  if (login && login.length >= 3 && password.toLowerCase().includes(login.toLowerCase()))
    return 'must not contain the login'
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length
  if (password.length < 20 && classes < 3)
    return 'must mix at least three of: lower case, upper case, digits, symbols (or be 20+ characters)'
  if (new Set(password).size < 5) return 'must not repeat the same few characters'
  return undefined
}

import { readdir, readFile } from 'node:fs/promises'

/** The pids whose environment has `name=value` (agents: told apart by their state directories). */
export async function pidsWithEnv(name: string, matches: (value: string) => boolean): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const env = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')
    const value = env
      .split('\0')
      .find((v) => v.startsWith(`${name}=`))
      ?.slice(name.length + 1)
    if (value !== undefined && matches(value)) found.push(Number(entry))
  }
  return found
}

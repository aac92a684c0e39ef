import type Dockerode from 'dockerode'

/**
 * The version an image is: its `alfa.version` label, else its tag (`alfa/mol:2.4.1-master` → `2.4.1-master`);
 * undefined for a ref without a tag, or an image Docker cannot inspect (the container step then fails on it).
 */
export async function imageVersion(docker: Dockerode, ref: string): Promise<string | undefined> {
  const label = await docker
    .getImage(ref)
    .inspect()
    .then((info) => info.Config.Labels?.['alfa.version'])
    // A missing image fails at the container step with Docker's own message; the version is simply unknown here.
    .catch(() => undefined)
  return label || /:([\w][\w.-]{0,127})$/.exec(ref)?.[1]
}

import type { RuntimeSpec } from '../shared/protocol.js';

/**
 * The user namespace a job's container runs in, for a container user `uid:gid`.
 *
 * Rootless podman maps the container's uid 0 to the host user and every other uid to one of the
 * user's subuids, so the container user 1000 would write workspace files as some subuid (e.g.
 * 100999) that the host user cannot even delete. `keep-id:uid=…,gid=…` maps the host user to
 * the container user instead: files written to mounts belong to the user who runs claude-pod.
 * Rootful engines map uids 1:1 (the supervisor hands the container user its directories), and
 * docker has no keep-id: undefined there.
 */
export function containerUserNamespace(runtime: RuntimeSpec, containerUser: string): string | undefined {
  if (runtime.kind !== 'podman' || runtime.rootless !== true) return undefined;
  const [uid = '', gid = uid] = containerUser.split(':');
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return undefined;
  return `keep-id:uid=${uid},gid=${gid}`;
}

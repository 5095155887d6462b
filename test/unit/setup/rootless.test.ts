import { describe, expect, it } from 'vitest';
import { dockerdArgs } from '../../../src/setup/docker-engine.js';
import {
  nextFreeId,
  rootlessNeedsFromRoot,
  subordinateRanges,
  userStorageConf,
} from '../../../src/setup/rootless-podman.js';

const user = { name: 'alice', uid: 1001 };

describe('subordinateRanges', () => {
  it("reads a user's ranges by name or uid and ignores others and junk", () => {
    const file = 'bob:100000:65536\nalice:165536:65536\n1001:300000:1000\n# comment\nalice:x:y\n';
    expect(subordinateRanges(file, user)).toEqual([
      { start: 165536, count: 65536 },
      { start: 300000, count: 1000 },
    ]);
    expect(subordinateRanges('', user)).toEqual([]);
  });
});

describe('rootlessNeedsFromRoot', () => {
  it('asks root for subuids and subgids the user lacks, with the command to run', async () => {
    const needs = await rootlessNeedsFromRoot(user, async (path) =>
      path === '/etc/subuid' ? 'alice:100000:65536\n' : 'bob:100000:65536\nalice:165536:1000\n',
    );
    expect(needs).toHaveLength(1);
    expect(needs[0]).toContain('/etc/subgid');
    // A range after every one already handed out.
    expect(needs[0]).toContain('usermod --add-subgids 166536-232071 alice');
  });

  it('asks for nothing when both files grant 65536 ids', async () => {
    expect(await rootlessNeedsFromRoot(user, async () => 'alice:100000:65536\n')).toEqual([]);
  });
});

describe('userStorageConf', () => {
  it('follows CONTAINERS_STORAGE_CONF, then XDG_CONFIG_HOME', () => {
    expect(userStorageConf({ CONTAINERS_STORAGE_CONF: '/x/s.conf' })).toBe('/x/s.conf');
    expect(userStorageConf({ XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/containers/storage.conf');
  });
});

describe('nextFreeId', () => {
  it('starts after every range handed out, and at 100000 at the least', () => {
    expect(nextFreeId('')).toBe(100000);
    expect(nextFreeId('a:100000:65536\nb:165536:65536\n')).toBe(231072);
  });
});

describe('dockerdArgs', () => {
  it('starts a daemon that leaves iptables and bridges alone unless jobs use the bridge network', () => {
    expect(dockerdArgs({ network: 'none' })).toEqual([
      '--iptables=false',
      '--ip-masq=false',
      '--bridge=none',
    ]);
    expect(dockerdArgs({ network: 'bridge' })).toEqual([]);
  });
});

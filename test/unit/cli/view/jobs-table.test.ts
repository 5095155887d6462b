/* eslint-disable no-control-regex -- these tests look for terminal control characters */
import { describe, expect, it } from 'vitest';
import { cleanupText } from '../../../../src/cli/commands/cleanup.js';
import { makeColors } from '../../../../src/cli/view/colors.js';
import { jobDetail, jobsTable, sessionsTable } from '../../../../src/cli/view/jobs.js';
import { formatTable } from '../../../../src/cli/view/table.js';
import { jobStatus, sessionInfo } from '../../tools/fake-supervisor.js';

const plain = makeColors(false);
const NOW = Date.parse('2026-01-01T00:10:00.000Z');

describe('tables', () => {
  it('pads columns to the widest cell, colour codes not counted', () => {
    const c = makeColors(true);
    const lines = formatTable(
      [{ header: 'A' }, { header: 'NUM', align: 'right' }],
      [
        [c.red('long'), '1'],
        ['x', '100'],
      ],
    );
    expect(lines.map((l) => l.replace(/\x1b\[\d+m/g, ''))).toEqual(['A     NUM', 'long    1', 'x     100']);
  });

  it('status: one row per job with session, status, age, output, cost, activity', () => {
    const jobs = [
      jobStatus({ jobId: 'job-b', createdAt: '2026-01-01T00:09:00.000Z', activityState: 'processing' }),
      jobStatus({
        jobId: 'job-a',
        status: 'completed',
        outputSize: 12_595,
        claude: { ...jobStatus().claude, costUsd: 0.0367 },
      }),
    ];
    expect(jobsTable(jobs, NOW, plain)).toEqual(
      [
        'JOB    SESSION  STATUS     AGE   OUTPUT     COST  ACTIVITY',
        'job-a  sess-1   completed  10m 00s  12.3 KB  $0.0367  –',
        'job-b  sess-1   running    1m 00s   2.0 KB        –  processing',
        '',
        '2 jobs, 1 running, 0 pending · details: claude-pod status JOB',
      ].map((l, i) =>
        i < 3 ? expect.stringMatching(new RegExp(`^${l.split(/\s+/).map(escape).join('\\s+')}$`)) : l,
      ),
    );
    expect(jobsTable([], NOW, plain)).toEqual(['No jobs. Start one with: claude-pod run "<prompt>"']);
  });

  it('status JOB: the job in detail, with the hint for its error', () => {
    const lines = jobDetail(
      jobStatus({
        status: 'failed',
        error: 'Container image not found: x/y',
        errorCode: 'IMAGE_NOT_FOUND',
        exitCode: 1,
      }),
      NOW,
      plain,
      { image: 'x/y' },
    );
    expect(lines).toContain('status     failed');
    expect(lines).toContain('error      [IMAGE_NOT_FOUND] Container image not found: x/y');
    expect(lines.find((l) => l.startsWith('hint'))).toMatch(/podman pull x\/y/);
    expect(lines.at(-1)).toBe('output: claude-pod logs job-1');
  });

  it('sessions: a table with the active job and workspace', () => {
    expect(sessionsTable([sessionInfo()], plain)[1]).toMatch(
      /^sess-1\s+1h 01m\s+1m 05s ago\s+2\s+job-1 \(running\)\s+\/w\/sess-1$/,
    );
  });

  it('cleanup says what it deleted', () => {
    expect(cleanupText({ removedSessions: [], removed: [], bytesFreed: 0 }, 3600)).toBe(
      'No sessions idle for more than 3600 s; nothing removed.',
    );
    expect(
      cleanupText(
        {
          removedSessions: ['a', 'b'],
          removed: [
            { sessionId: 'a', workspaceDir: '/w/a', workspaceDeleted: true, bytesFreed: 2048 },
            { sessionId: 'b', workspaceDir: '/mine', workspaceDeleted: false, bytesFreed: 0 },
          ],
          bytesFreed: 2048,
        },
        60,
      ),
    ).toBe(
      'Removed 2 session(s); deleted 1 workspace(s), 2.0 KB freed:\n' +
        '  a  deleted /w/a (2.0 KB)\n' +
        '  b  kept /mine (not created by claude-pod)',
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

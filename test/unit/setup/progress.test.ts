import { describe, expect, it } from 'vitest';
import { createProgress, formatSeconds } from '../../../src/setup/progress.js';

describe('createProgress', () => {
  it('prints one line per step with its detail and duration', async () => {
    const lines: string[] = [];
    let t = 0;
    const progress = createProgress(
      (l) => lines.push(l),
      () => t,
    );
    const result = await progress.step('base image', async () => {
      t += 1500;
      return { detail: 'present', image: 'x' };
    });
    progress.line('done');
    expect(result.image).toBe('x');
    expect(lines).toEqual(['setup: base image: present (1.5 s)', 'setup: done']);
    expect(progress.elapsed()).toBe(1.5);
  });

  it('lets a failing step propagate without printing it as done', async () => {
    const lines: string[] = [];
    const progress = createProgress((l) => lines.push(l));
    await expect(progress.step('x', () => Promise.reject(new Error('boom')))).rejects.toThrow();
    expect(lines).toEqual([]);
  });

  it('formats seconds with one decimal below ten', () => {
    expect(formatSeconds(250)).toBe('0.3 s');
    expect(formatSeconds(68_900)).toBe('69 s');
  });
});

import { execFile } from 'node:child_process';

/**
 * Runs a probe as `nobody` (setpriv): connect to each socket, read each file, list each dir, run
 * `ps`, read every /proc/<pid>/cmdline and environ it may. The secrets come on stdin, so they are
 * in no argv and no environment of the probe itself.
 */
export async function runAsNobody(
  targets: { sockets: string[]; files: string[]; dirs: string[] },
  secrets: string[],
): Promise<Record<string, unknown>> {
  const script = `
const net = require('net'), fs = require('fs'), cp = require('child_process');
const targets = JSON.parse(process.argv[1]);
const secrets = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = {};
(async () => {
  for (const p of targets.sockets) out['connect ' + p] = await new Promise((r) => {
    const s = net.connect(p); s.on('connect', () => { s.destroy(); r('CONNECTED'); }); s.on('error', (e) => r(e.code));
  });
  for (const f of targets.files) { try { fs.readFileSync(f); out['read ' + f] = 'READ'; } catch (e) { out['read ' + f] = e.code; } }
  for (const d of targets.dirs) { try { fs.readdirSync(d); out['list ' + d] = 'LISTED'; } catch (e) { out['list ' + d] = e.code; } }
  const ps = cp.execFileSync('ps', ['-eo', 'pid,user,args', '--no-headers'], { encoding: 'utf8' });
  out.sawJob = ps.includes('--output-format stream-json');
  out.psHits = secrets.filter((s) => ps.includes(s)).length;
  let cmdlineHits = 0, environHits = 0, environReadable = 0;
  for (const pid of fs.readdirSync('/proc').filter((x) => /^[0-9]+$/.test(x))) {
    try { const c = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8'); if (secrets.some((s) => c.includes(s))) cmdlineHits++; } catch {}
    try { const e = fs.readFileSync('/proc/' + pid + '/environ', 'utf8'); environReadable++; if (secrets.some((s) => e.includes(s))) environHits++; } catch {}
  }
  Object.assign(out, { cmdlineHits, environHits, environReadable });
  process.stdout.write(JSON.stringify(out));
})();`;
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        process.execPath,
        '-e',
        script,
        JSON.stringify(targets),
      ],
      { cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 30_000 },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    );
    child.stdin?.end(JSON.stringify(secrets));
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

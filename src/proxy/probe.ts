import http from 'node:http';

/**
 * Asks whatever listens on the socket `GET /` and returns the pid it reports, or null when nothing
 * (or something that is not our proxy) answers within the timeout.
 */
export function probeProxy(socketPath: string, timeoutMs = 1000): Promise<number | null> {
  return new Promise((resolve) => {
    const req = http.request(
      { socketPath, path: '/', method: 'HEAD', agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        const pid = Number(res.headers['x-claude-pod-proxy-pid']);
        resolve(res.statusCode === 200 && Number.isInteger(pid) && pid > 0 ? pid : null);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
    req.end();
  });
}

// Progress on stderr: a live spinner line on a terminal, plain timestamped lines otherwise (CI logs).
import type { Progress } from '../backend.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress & { elapsed(): number } {
  const tty = stream.isTTY === true && process.env.CI === undefined;
  const started = Date.now();
  let current: { text: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let frame = 0;

  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  const clear = () => tty && stream.write('\r\x1b[2K');
  const draw = () => {
    if (!current) return;
    clear();
    stream.write(`${FRAMES[frame++ % FRAMES.length]} ${current.text} ${seconds(Date.now() - current.at)}`);
  };
  const finish = (mark: string, suffix?: string) => {
    if (!current) return;
    if (timer) clearInterval(timer);
    timer = undefined;
    clear();
    stream.write(`${mark} ${current.text}${suffix ? `: ${suffix}` : ''} (${seconds(Date.now() - current.at)})\n`);
    current = undefined;
  };

  return {
    step(message) {
      finish('✔');
      current = { text: message, at: Date.now() };
      if (tty) timer = setInterval(draw, 100);
      else stream.write(`… ${message}\n`);
    },
    info(message) {
      clear();
      stream.write(`  ${message}\n`);
      if (tty) draw();
    },
    done(message) {
      finish('✔', message);
    },
    warn(message) {
      clear();
      stream.write(`! ${message}\n`);
      if (tty) draw();
    },
    elapsed: () => Date.now() - started,
  };
}

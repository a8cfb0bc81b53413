/** The terminal's size as a view sees it. */
export interface ViewSize {
  readonly columns: number;
  readonly rows: number;
}

/** Options of {@link runLiveView}. */
export interface LiveViewOptions {
  readonly out: NodeJS.WriteStream;
  /** Makes the frame's lines (without line breaks); called every interval and on resize. */
  readonly render: (size: ViewSize) => Promise<readonly string[]>;
  readonly intervalMs: number;
  /** Ends the view (besides SIGINT and SIGTERM). */
  readonly signal?: AbortSignal;
}

const ENTER = "\x1b[?1049h\x1b[?25l"; // alternate screen, cursor hidden
const LEAVE = "\x1b[?25h\x1b[?1049l";
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Cuts `line` to `width` visible characters (ANSI sequences take no width). */
export function fitLine(line: string, width: number): string {
  if (line.replace(ANSI, "").length <= width) return line;
  let visible = 0;
  let out = "";
  for (let i = 0; i < line.length && visible < width; ) {
    ANSI.lastIndex = i;
    const m = line.startsWith("\x1b[", i) ? ANSI.exec(line) : null;
    if (m !== null && m.index === i) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    out += line[i];
    visible += 1;
    i += 1;
  }
  return `${out}\x1b[0m`;
}

/**
 * Redraws `render`'s frame in place until Ctrl-C (SIGINT), SIGTERM or
 * `signal`: on a terminal, in the alternate screen, each frame written in one
 * piece from the top left with every line cleared to its end and the rest of
 * the screen cleared after it, so nothing blinks (no full clear between
 * frames); lines are cut to the width and the frame to the height, and a
 * resize redraws at once. The terminal is restored on the way out. Not on a
 * terminal, each frame is printed after the last, separated by a blank line.
 */
export function runLiveView(options: LiveViewOptions): Promise<void> {
  const { out } = options;
  const tty = out.isTTY === true;
  return new Promise<void>((done) => {
    let stopped = false;
    let drawing = false;
    let again = false;
    const size = (): ViewSize => ({ columns: out.columns ?? 80, rows: out.rows ?? 24 });
    const draw = async (): Promise<void> => {
      if (drawing) {
        again = true;
        return;
      }
      drawing = true;
      try {
        do {
          again = false;
          const { columns, rows } = size();
          // a frame that cannot be made says why and the view goes on (the next one may work)
          const lines = await options.render({ columns, rows }).catch((error: unknown) => [`cannot draw the view: ${(error as Error).message}`]);
          if (stopped) return;
          if (tty) {
            const shown = lines.slice(0, rows).map((l) => `${fitLine(l, columns)}\x1b[K`);
            out.write(`\x1b[H${shown.join("\r\n")}\x1b[J`);
          } else {
            out.write(`${lines.join("\n")}\n\n`);
          }
        } while (again && !stopped);
      } finally {
        drawing = false;
      }
    };
    const timer = setInterval(() => void draw(), options.intervalMs);
    const onResize = () => void draw();
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      out.off("resize", onResize);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      options.signal?.removeEventListener("abort", stop);
      if (tty) out.write(LEAVE);
      done();
    };
    if (tty) out.write(ENTER);
    out.on("resize", onResize);
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    options.signal?.addEventListener("abort", stop);
    void draw();
  });
}

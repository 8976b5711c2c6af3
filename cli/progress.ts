import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import type { JobEvent } from '../shared/ports.js';

type PipelineEvent = JobEvent | { type: 'job.splitting'; jobId: string; file: string };

/**
 * One progress bar per file (splitting, then chunks done / total), on stderr so stdout stays
 * scriptable. Disabled when stderr is not a terminal or with --no-progress.
 */
export function createProgress(enabled: boolean) {
  const multi = enabled
    ? new cliProgress.MultiBar(
        {
          format: ' {bar} {percentage}% | {name} | {stage} {value}/{total} chunks',
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  const names = new Map<string, string>();

  return {
    onEvent(event: PipelineEvent) {
      if (!multi) return;
      if (event.type === 'job.splitting') {
        names.set(event.jobId, basename(event.file));
        bars.set(event.jobId, multi.create(1, 0, { name: basename(event.file), stage: 'splitting' }));
        return;
      }
      const bar = bars.get(event.jobId);
      if (!bar) return;
      if (event.type === 'job.progress') {
        bar.setTotal(Math.max(1, event.chunksTotal));
        bar.update(event.chunksDone, { stage: 'transcribing' });
      } else {
        bar.update(bar.getTotal(), { stage: event.type === 'job.completed' ? 'done' : 'FAILED' });
      }
    },
    stop() {
      multi?.stop();
    },
  };
}

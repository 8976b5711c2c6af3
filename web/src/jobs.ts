/** The job list: status, source, duration, cost, errors; live progress (polling); filters; retry; drag-and-drop upload. */
import { createUpload, type JobView, listJobs, putUpload, retryJob } from './api.js';
import { clock, h, money } from './dom.js';

const STATES = ['awaiting_upload', 'queued', 'splitting', 'transcribing', 'aggregating', 'completed', 'failed'];
const TERMINAL = new Set(['completed', 'failed']);
/** While a job runs the list refreshes this often; idle, every 5 s. */
const LIVE_MS = 1000;
const IDLE_MS = 5000;

/** The profile of a drop-folder job (`inbox/<profile>/…`), or undefined for uploads and other sources. */
export function profileOf(job: JobView): string | undefined {
  return /^(?:tenants\/[^/]+\/)?inbox\/([^/]+)\/.+/.exec(job.source.key)?.[1];
}

const fileName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

export async function renderJobs(root: HTMLElement): Promise<() => void> {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const status = h('select', { id: 'filter-status', 'aria-label': 'Filter by status' }, h('option', { value: '' }, 'All states'), ...STATES.map((s) => h('option', { value: s }, s.replace('_', ' '))));
  status.value = params.get('status') ?? '';
  const profile = h('select', { id: 'filter-profile', 'aria-label': 'Filter by profile' }, h('option', { value: '' }, 'All profiles'));
  const fileInput = h('input', { type: 'file', id: 'upload-input', multiple: true, accept: 'audio/*,video/*', class: 'visually-hidden' });
  const drop = h(
    'section',
    { class: 'dropzone', id: 'dropzone', 'aria-label': 'Upload audio or video' },
    h('p', {}, 'Drop audio or video files here, or ', h('label', { for: 'upload-input', class: 'link' }, 'choose files'), '.'),
    fileInput,
  );
  const uploads = h('ul', { class: 'uploads', 'aria-live': 'polite' });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'jobs', id: 'jobs' },
    h('caption', { class: 'visually-hidden' }, 'Jobs'),
    h('thead', {}, h('tr', {}, ...['Source', 'Status', 'Progress', 'Duration', 'Cost', 'Created', ''].map((t) => h('th', { scope: 'col' }, t)))),
    body,
  );
  const empty = h('p', { class: 'muted', id: 'jobs-empty', hidden: true }, 'No jobs yet. Drop a file above to start one.');
  root.append(
    header(),
    h('main', { class: 'page' }, drop, uploads, h('div', { class: 'filters' }, h('label', {}, 'Status ', status), h('label', {}, 'Profile ', profile)), table, empty),
  );

  let jobs: JobView[] = [];
  let timer: number | undefined;
  let stopped = false;

  function draw(): void {
    const profiles = [...new Set(jobs.map(profileOf).filter((p): p is string => !!p))].sort();
    const chosen = profile.value;
    profile.replaceChildren(h('option', { value: '' }, 'All profiles'), ...profiles.map((p) => h('option', { value: p }, p)));
    profile.value = profiles.includes(chosen) ? chosen : '';
    const shown = jobs.filter((j) => !profile.value || profileOf(j) === profile.value);
    body.replaceChildren(...shown.map(row));
    empty.hidden = shown.length > 0;
  }

  function row(job: JobView): HTMLTableRowElement {
    const done = job.progress.chunksDone;
    const total = job.progress.chunksTotal;
    const name = fileName(job.source.key);
    const source =
      job.state === 'completed'
        ? h('a', { href: `#/jobs/${encodeURIComponent(job.jobId)}`, class: 'job-link' }, name)
        : h('span', {}, name);
    const retry =
      job.state === 'failed'
        ? h('button', { type: 'button', class: 'retry', 'data-job': job.jobId }, 'Retry')
        : null;
    retry?.addEventListener('click', async () => {
      retry.disabled = true;
      try {
        await retryJob(job.jobId);
      } catch (err) {
        alert(`Retry failed: ${(err as Error).message}`);
      }
      void refresh();
    });
    return h(
      'tr',
      { 'data-job': job.jobId, 'data-state': job.state },
      h('td', { class: 'source' }, source, profileOf(job) ? h('span', { class: 'tag' }, profileOf(job)) : null, h('div', { class: 'muted small' }, job.jobId)),
      h(
        'td',
        {},
        h('span', { class: `state state-${job.state}` }, job.state.replace('_', ' ')),
        job.reason ? h('div', { class: 'reason', role: job.state === 'failed' ? 'note' : undefined }, job.reason) : null,
      ),
      h(
        'td',
        {},
        total
          ? h('progress', { max: total, value: done, 'aria-label': `${done} of ${total} chunks` })
          : null,
        h('span', { class: 'small' }, total ? ` ${done}/${total}` : TERMINAL.has(job.state) ? '' : ' …'),
      ),
      h('td', { class: 'num' }, job.usage.audioSeconds ? clock(job.usage.audioSeconds) : '—'),
      h('td', { class: 'num' }, money(job.usage.costUsd)),
      h('td', { class: 'small' }, new Date(job.timings.createdAt).toLocaleString()),
      h('td', {}, retry),
    );
  }

  async function refresh(): Promise<void> {
    window.clearTimeout(timer);
    try {
      jobs = (await listJobs(status.value || undefined)).jobs;
      draw();
    } catch (err) {
      if ((err as { status?: number }).status === 401) return void location.assign('/');
    }
    if (stopped) return;
    const live = jobs.some((j) => !TERMINAL.has(j.state)) || uploads.childElementCount > 0;
    timer = window.setTimeout(() => void refresh(), live ? LIVE_MS : IDLE_MS);
  }

  async function upload(files: readonly File[]): Promise<void> {
    await Promise.all(
      files.map(async (file) => {
        const bar = h('progress', { max: 1, value: 0, 'aria-label': `Uploading ${file.name}` });
        const item = h('li', {}, `${file.name} `, bar);
        uploads.append(item);
        try {
          const job = await createUpload(file.name);
          void refresh();
          await putUpload(job.uploadUrl, file, (f) => (bar.value = f));
          item.remove();
        } catch (err) {
          item.replaceChildren(h('span', { class: 'error' }, `${file.name}: ${(err as Error).message}`));
        }
        void refresh();
      }),
    );
  }

  status.addEventListener('change', () => {
    history.replaceState(null, '', status.value ? `#/?status=${status.value}` : '#/');
    void refresh();
  });
  profile.addEventListener('change', draw);
  fileInput.addEventListener('change', () => {
    void upload([...(fileInput.files ?? [])]);
    fileInput.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void upload([...(e.dataTransfer?.files ?? [])]);
  });

  await refresh();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

export function header(...extra: (Node | string)[]): HTMLElement {
  const signout = h('form', { method: 'post', action: '/signout', class: 'signout' }, h('button', { type: 'submit', class: 'plain' }, 'Sign out'));
  return h(
    'header',
    { class: 'top' },
    h('a', { href: '#/', class: 'brand' }, 'voxpipe'),
    ...extra,
    h('span', { class: 'spacer' }),
    h('span', { class: 'muted small', id: 'tenant' }, document.body.dataset.tenant ?? ''),
    signout,
  );
}

// The finops page: sign in, upload books, ask, watch the three phases stream, read the report and its charts,
// review and sign off, download. Plain browser JavaScript over the server's API; every number shown comes from the
// analysis's computed figures.
'use strict';
(() => {
  const $ = (selector) => document.querySelector(selector);
  const TEXTS = window.FINOPS_TEXTS;
  let lang = localStorage.getItem('finops.lang') || ((navigator.language || 'en').startsWith('fr') ? 'fr' : 'en');
  let token = sessionStorage.getItem('finops.token');
  let me = null;
  let current = null;
  let following = null;
  const charts = [];

  function t(key, vars) {
    let text = (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, String(v));
    return text;
  }

  function applyTexts() {
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    if (me) $('#whoami').textContent = t('signedInAs', { sub: me.sub, role: t('role' + cap(me.role)), tenant: me.tenant });
  }

  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

  function showError(error) {
    const box = $('#error');
    if (!error) { box.hidden = true; box.textContent = ''; return; }
    box.hidden = false;
    box.textContent = error.message || String(error);
  }

  // Calls the API with the bearer token; a refusal becomes an Error naming the field and the reason.
  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(path, Object.assign({}, options, { headers }));
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const body = await response.json();
        const e = body.error || {};
        message = e.field ? `${e.field}: ${e.reason || e.message}` : (e.reason || e.message || message);
      } catch (_) { /* not JSON */ }
      if (response.status === 401) signOut();
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return response;
  }

  function claims(jwt) {
    const part = jwt.split('.')[1] || '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(decodeURIComponent(Array.from(json, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join('')));
  }

  function signIn(newToken) {
    token = newToken;
    me = claims(token);
    sessionStorage.setItem('finops.token', token);
    $('#signin').hidden = true;
    $('#workspace').hidden = false;
    $('#signout').hidden = false;
    $('#new-analysis').hidden = me.role === 'client';
    $('#admin').hidden = me.role !== 'admin';
    applyTexts();
    loadList().catch(showError);
  }

  function signOut() {
    if (following) following.abort();
    token = null; me = null; current = null;
    sessionStorage.removeItem('finops.token');
    $('#signin').hidden = false;
    $('#workspace').hidden = true;
    $('#signout').hidden = true;
    $('#result').hidden = true;
    $('#progress').hidden = true;
    $('#whoami').textContent = '';
  }

  async function loadList() {
    const rows = await (await api('/v1/analyses')).json();
    const body = $('#analyses tbody');
    body.replaceChildren();
    for (const row of rows.reverse()) {
      const tr = document.createElement('tr');
      tr.dataset.id = row.id;
      for (const text of [row.client, row.question, t(row.review_status), row.report_source === 'offline' ? t('offline') : t('validatorSource')]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      tr.addEventListener('click', () => openAnalysis(row.id).catch(showError));
      body.append(tr);
    }
    $('#empty-list').hidden = rows.length > 0;
  }

  // Submits the form as multipart: the files as they are, the server reads every format it knows.
  async function submit(event) {
    event.preventDefault();
    showError(null);
    const form = new FormData($('#upload-form'));
    for (const [k, v] of Array.from(form.entries())) if (v === '') form.delete(k);
    $('#submit-btn').disabled = true;
    try {
      const job = await (await api('/v1/analyses', { method: 'POST', body: form })).json();
      follow(job.id);
    } catch (e) {
      showError(e);
    } finally {
      $('#submit-btn').disabled = false;
    }
  }

  function resetProgress(id) {
    current = id;
    $('#progress').hidden = false;
    $('#result').hidden = true;
    document.querySelectorAll('.phase').forEach((li) => { li.className = 'phase'; li.querySelector('.state').textContent = t('waiting'); });
    $('#computations').replaceChildren();
    $('#live-text').textContent = '';
    $('#job-status').textContent = t('queued');
    $('#cancel-btn').hidden = false;
  }

  function phase(name) { return document.querySelector(`.phase[data-phase="${name}"]`); }

  function onEvent(message) {
    const e = message;
    if (e.type === 'started') $('#job-status').textContent = t('started', { n: e.attempt });
    if (e.type === 'attempt_failed') $('#job-status').textContent = t('retrying', { e: e.error });
    if (e.type === 'finished') {
      $('#cancel-btn').hidden = true;
      $('#job-status').textContent = e.status === 'succeeded' ? t('succeeded') : e.status === 'dead' ? t('dead', { e: e.error || '' }) : t('cancelled');
      if (e.status === 'succeeded') openAnalysis(e.result_id).catch(showError);
      loadList().catch(showError);
      return;
    }
    if (e.type !== 'analysis') return;
    const a = e.event;
    if (a.type === 'phase_started') { const li = phase(a.phase); li.className = 'phase running'; li.querySelector('.state').textContent = t('running'); }
    if (a.type === 'phase_finished') {
      const u = a.usage;
      const li = phase(u.phase);
      li.className = 'phase done';
      const cost = u.cost_usd == null ? '' : ' · ' + t('cost', { c: u.cost_usd });
      li.querySelector('.state').textContent = `${t('done')} · ${u.provider} ${u.model} · ${t('tokens', { i: u.input_tokens, o: u.output_tokens })}${cost}`;
    }
    if (a.type === 'computation_done') {
      const li = document.createElement('li');
      li.textContent = `${a.computation.id}: ${a.computation.expression} @ ${a.computation.period}`;
      $('#computations').append(li);
    }
    if (a.type === 'text_delta') $('#live-text').textContent += a.text;
    if (a.type === 'degraded') $('#live-text').textContent += `\n[${a.phase}] ${t('degraded', { r: a.reason })}\n`;
  }

  // Follows a job's server-sent events with the bearer token (fetch, not EventSource, which cannot send it),
  // resuming after a dropped connection with Last-Event-ID.
  async function follow(id) {
    if (following) following.abort();
    const controller = new AbortController();
    following = controller;
    resetProgress(id);
    let lastId = 0;
    let finished = false;
    for (let attempt = 0; attempt < 20 && !finished && !controller.signal.aborted; attempt++) {
      try {
        const headers = { Accept: 'text/event-stream' };
        if (lastId) headers['Last-Event-ID'] = String(lastId);
        const response = await api(`/v1/analyses/${encodeURIComponent(id)}/events`, { headers, signal: controller.signal });
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('id:')) lastId = Number(line.slice(3).trim()) || lastId;
              else if (line.startsWith('data:')) data += line.slice(5).trim();
            }
            if (!data) continue;
            const message = JSON.parse(data);
            if (message.type === 'finished') finished = true;
            onEvent(message);
          }
        }
      } catch (e) {
        if (controller.signal.aborted) return;
        if (e.status && e.status < 500 && e.status !== 429) { showError(e); return; }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  function destroyCharts() {
    while (charts.length) charts.pop().destroy();
    $('#charts').replaceChildren();
  }

  // One small line chart per planned metric, over the periods, from the computed figures.
  function renderCharts(analysis) {
    destroyCharts();
    if (!window.Chart) return;
    const periods = analysis.plan.periods.length ? analysis.plan.periods : Array.from(new Set(analysis.figures.map((f) => f.period)));
    const metrics = analysis.plan.metrics.slice(0, 6);
    const locale = analysis.language === 'fr' ? 'fr-FR' : 'en-CA';
    for (const metric of metrics) {
      const byPeriod = new Map(analysis.figures.filter((f) => f.metric === metric && f.value != null).map((f) => [f.period, f]));
      const points = periods.filter((p) => byPeriod.has(p));
      if (points.length < 2) continue;
      const unit = byPeriod.get(points[0]).unit;
      const scale = unit === 'percent' ? 100 : 1;
      // Plotted at the precision the report writes (a constant margin is a flat line, not noise in the 8th digit).
      const digits = unit === 'amount' ? 0 : unit === 'days' ? 1 : 2;
      const figure = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.dataset.metric = metric;
      const caption = document.createElement('figcaption');
      caption.textContent = metric.replace(/_/g, ' ') + (unit === 'percent' ? ' (%)' : '');
      figure.append(caption, canvas);
      $('#charts').append(figure);
      charts.push(new window.Chart(canvas, {
        type: 'line',
        data: { labels: points, datasets: [{ label: metric, data: points.map((p) => Number((Number(byPeriod.get(p).value) * scale).toFixed(digits))), borderColor: '#1f5fa8', tension: 0.2 }] },
        options: { animation: false, plugins: { legend: { display: false } }, locale, scales: { y: { beginAtZero: false } } },
      }));
    }
  }

  function renderFigures(view) {
    const body = $('#figures tbody');
    body.replaceChildren();
    for (const f of view.analysis.figures) {
      const tr = document.createElement('tr');
      const inputs = f.inputs.map((i) => `${i.line}@${i.period} = ${i.value}` + (i.accounts ? ' [' + i.accounts.map((a) => `${a.account} ${a.name}`).join('; ') + ']' : '')).join('\n');
      const cells = [f.metric, f.period, view.display[f.id] || f.reason || '', f.formula];
      for (const [k, text] of cells.entries()) {
        const td = document.createElement('td');
        td.textContent = text;
        if (k === 2) td.className = 'num';
        tr.append(td);
      }
      const td = document.createElement('td');
      const pre = document.createElement('pre');
      pre.textContent = inputs;
      td.append(pre);
      tr.append(td);
      body.append(tr);
    }
  }

  function renderReview(review) {
    $('#review-status').textContent = t(review.status);
    $('#review-status').className = `status-${review.status}`;
    const notes = $('#notes');
    notes.replaceChildren();
    for (const n of review.notes) {
      const li = document.createElement('li');
      li.textContent = `${n.at} — ${(n.by && n.by.sub) || 'CPA'}: ${n.text}`;
      notes.append(li);
    }
    $('#review-actions').hidden = !(me && me.role === 'cpa') || review.status === 'signed_off';
  }

  async function openAnalysis(id) {
    const view = await (await api(`/v1/analyses/${encodeURIComponent(id)}`)).json();
    if (!view.analysis) return;
    current = id;
    const a = view.analysis;
    $('#result').hidden = false;
    // The server renders the report's Markdown with any raw HTML escaped.
    $('#report').innerHTML = view.report_html;
    const meta = [a.client, a.report_source === 'offline' ? t('offline') : t('validatorSource'), a.validation.grounded ? t('grounded') : t('notGrounded')];
    if (a.degraded && a.degraded_reason) meta.push(t('degraded', { r: a.degraded_reason }));
    if (a.total_cost_usd != null) meta.push(t('cost', { c: a.total_cost_usd }));
    $('#result-meta').textContent = meta.join(' · ');
    renderCharts(a);
    renderFigures(view);
    renderReview(view.review);
  }

  async function act(action) {
    showError(null);
    const body = { action };
    if (action === 'annotate') body.note = $('#note').value;
    try {
      const review = await (await api(`/v1/analyses/${encodeURIComponent(current)}/review`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      })).json();
      $('#note').value = '';
      renderReview(review);
      loadList().catch(showError);
    } catch (e) { showError(e); }
  }

  async function download(path, name) {
    const blob = await (await api(path)).blob();
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function wire() {
    $('#lang-fr').addEventListener('click', () => { lang = 'fr'; localStorage.setItem('finops.lang', lang); applyTexts(); });
    $('#lang-en').addEventListener('click', () => { lang = 'en'; localStorage.setItem('finops.lang', lang); applyTexts(); });
    $('#signout').addEventListener('click', signOut);
    $('#signin-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      showError(null);
      const body = { tenant: $('#tenant').value.trim(), role: $('#role').value };
      if ($('#client').value.trim()) body.client = $('#client').value.trim();
      if ($('#sub').value.trim()) body.sub = $('#sub').value.trim();
      try {
        const answer = await (await api('/v1/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json();
        signIn(answer.token);
      } catch (e) { showError(e); }
    });
    $('#token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      try { signIn($('#token').value.trim()); } catch (e) { showError(new Error('not a JWT')); }
    });
    $('#upload-form').addEventListener('submit', submit);
    $('#cancel-btn').addEventListener('click', () => api(`/v1/analyses/${encodeURIComponent(current)}`, { method: 'DELETE' }).catch(showError));
    $('#refresh-btn').addEventListener('click', () => loadList().catch(showError));
    $('#annotate-btn').addEventListener('click', () => act('annotate'));
    $('#reviewed-btn').addEventListener('click', () => act('reviewed'));
    $('#signoff-btn').addEventListener('click', () => act('sign_off'));
    document.querySelectorAll('#downloads button').forEach((b) => b.addEventListener('click', () => {
      const format = b.dataset.format;
      download(`/v1/analyses/${encodeURIComponent(current)}/report.${format}`, `finops-${current}.${format}`).catch(showError);
    }));
    $('#audit-btn').addEventListener('click', () => download('/v1/audit', 'finops-audit.jsonl')
      .then(() => { $('#admin-status').textContent = t('auditDownloaded'); }).catch(showError));
    $('#erase-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const client = $('#erase-client').value.trim();
      if (!window.confirm(t('confirmErase', { c: client }))) return;
      try {
        const answer = await (await api(`/v1/clients/${encodeURIComponent(client)}`, { method: 'DELETE' })).json();
        $('#admin-status').textContent = t('erased', { n: answer.erased });
      } catch (e) { showError(e); }
    });
  }

  wire();
  applyTexts();
  if (token) {
    try { signIn(token); } catch (_) { signOut(); }
  }
})();

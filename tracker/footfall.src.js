/*
 * footfall browser tracker — readable source.
 *
 * Built into src/footfall/static/footfall.js by `make tracker` (terser, see build.mjs); never edit the
 * built file by hand. ES2017 syntax (every browser since 2017); everything runs inside try/catch, so whatever
 * goes wrong in here, the host page never sees an exception.
 *
 *   <script defer data-app="APP_UUID" src="https://stats.example.com/footfall.js"></script>
 *
 * Attributes (all optional except data-app), see docs/tracker.md:
 *   data-endpoint     footfall base URL (default: where this script was loaded from)
 *   data-hash         count hash changes as page changes (hash-based routers)
 *   data-outbound     send an `outbound` event when a link to another host is clicked
 *   data-downloads    send a `download` event for links to files; value = extension list
 *   data-respect-dnt  send nothing when the browser says Do-Not-Track / Global Privacy Control
 *   data-local        also count localhost, 127.0.0.1 and file: pages (without it, one console.info
 *                     line says they are not counted)
 *   data-identity     "first-party": keep visitor/session ids in first-party cookies, send as vid/sid
 */
((win, doc) => {
  try {
    const nav = navigator;
    const loc = location;
    const script = doc.currentScript;
    const attr = script.dataset; // data-respect-dnt is attr.respectDnt
    const has = (name) => name in attr;
    const app = attr.app;
    // The footfall server: data-endpoint, else the directory the script came from (its origin when
    // served at /footfall.js; the right prefix when footfall sits behind a path on a reverse proxy).
    const base = attr.endpoint || script.src.replace(/\/[^/]*$/, '');
    const hashRouting = has('hash');
    const downloads = attr.downloads;
    // Not counted: local pages (file: pages have an empty host name), said once on the console so
    // that whoever tries footfall out on their own machine sees why and how to count them; and, when
    // the site asks for it, browsers that send Do-Not-Track or Global Privacy Control.
    const skip =
      (!has('local') &&
        /^(localhost|127\.|\[::1|$)/.test(loc.hostname) &&
        !console.info('footfall: localhost needs data-local')) ||
      (has('respectDnt') && (nav.doNotTrack == 1 || nav.globalPrivacyControl));
    let lastPath;

    const guarded = (fn) => (a, b) => {
      try {
        fn(a, b);
      } catch (e) {}
    };

    const currentPath = () => loc.pathname + (hashRouting ? loc.hash : '');

    // A first-party id cookie: reuse a valid UUID, else mint one; rewrite it with a fresh max-age so
    // the 30-minute session slides and the visitor lasts 730 days from the latest visit.
    // crypto.randomUUID needs a secure context (HTTPS): on plain HTTP no ids are sent.
    const idCookie = (name, maxAge) => {
      const found = doc.cookie.match(name + '=([\\w-]{36})');
      const id = found ? found[1] : crypto.randomUUID();
      doc.cookie = name + '=' + id + ';path=/;max-age=' + maxAge;
      return id;
    };

    // One hit: sendBeacon as text/plain JSON (no CORS preflight, survives navigation); if the browser
    // has no sendBeacon or refuses the beacon, the image beacon with the same fields.
    const send = (event, options) => {
      if (skip) return;
      const data = {
        app,
        event,
        url: loc.href,
        path: currentPath(),
        title: doc.title,
        referrer: doc.referrer,
        platform: nav.platform,
        language: nav.language,
        screensize: screen.width + 'x' + screen.height,
        pixelratio: win.devicePixelRatio,
      };
      if (options && options.props) data.props = options.props;
      if (attr.identity == 'first-party') {
        try {
          data.vid = idCookie('_utma', 63072000);
          data.sid = idCookie('_utmb', 1800);
        } catch (e) {}
      }
      if (!(nav.sendBeacon && nav.sendBeacon(base + '/api/event', JSON.stringify(data)))) {
        if (data.props) data.props = JSON.stringify(data.props);
        new Image().src = base + '/p.gif?' + new URLSearchParams(data);
      }
    };

    // A pageview, unless the path is the one counted last (replaceState, query-only or hash-only
    // changes, a popstate back to the same page).
    const pageview = guarded(() => {
      if (lastPath != (lastPath = currentPath())) send('pageview');
    });

    // Single-page apps: wrap pushState/replaceState. The page's own call runs untouched and its
    // result and exceptions stay its own; only our counting is guarded.
    const history = win.history;
    const wrap = (method) => {
      const original = history[method];
      history[method] = (...args) => {
        const result = original.apply(history, args);
        pageview();
        return result;
      };
    };

    // Outbound links and downloads (left or middle click). sendBeacon is queued by the browser and
    // outlives the page, so the navigation the click starts neither waits nor loses the event.
    const clicked = guarded((e) => {
      const link = e.target.closest('a[href]');
      // (a link without a host is mailto:, tel:, javascript: or the like)
      if (e.button < 2 && link && link.host) {
        const name =
          downloads != null &&
          (link.hasAttribute('download') ||
            (downloads || 'pdf,zip,gz,dmg,exe,msi,apk,csv,xlsx,docx,mp3,mp4')
              .split(',')
              .includes(link.pathname.split('.').pop().toLowerCase()))
            ? 'download'
            : has('outbound') && link.host != loc.host && 'outbound';
        if (name) send(name, { props: { url: link.href } });
      }
    });

    wrap('pushState');
    wrap('replaceState');
    win.addEventListener('popstate', pageview); // also fired by hash changes (data-hash)
    doc.addEventListener('click', clicked);
    doc.addEventListener('auxclick', clicked);
    pageview();

    // Custom events; calls the stub queued before the script loaded are replayed in order, after the
    // pageview they belong to.
    const queued = (win.footfall && win.footfall.q) || [];
    win.footfall = guarded(send);
    queued.map((args) => win.footfall(...args));
  } catch (e) {}
})(window, document);

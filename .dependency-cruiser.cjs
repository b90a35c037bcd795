// Layer rules (docs/architecture.md): protocol <- engine <- sessions <- course <- web <- root; the UI sees protocol only.
// `npm run lint:layers` fails on any edge against them. Test code may import anything; product code never imports it.

/** Test-only code: tests, test helpers in testing/ folders, the security suite, bench, e2e, scripts. */
const TEST = '(\\.test\\.tsx?$|\\.e2e\\.ts$|(^|/)testing/|^server/security-tests/|^bench/|^e2e/|^scripts/)';

const PROTOCOL = '^server/protocol/';
const ENGINE = '^(server/(engine|boxfs|rootfs|xray)|native-bindings)/';
const SESSIONS = '^server/sessions/';
const COURSE = '^server/(lessons|classroom|db)/';
const WEB = '^server/web/';
const ROOT = '^server/(root|cli)/';
const UI = '^(components|app)/';
const SERVER_BUT_PROTOCOL = '^(server/(?!protocol/)|native-bindings/)';

/** A rule: product code of layer `from` must not import `to`. */
const rule = (name, comment, from, to, extra = {}) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from, pathNot: TEST },
  to: { path: to, ...extra },
});

module.exports = {
  forbidden: [
    rule(
      'protocol-is-the-bottom',
      'protocol (wire types, grammar, schemas) imports no other layer',
      PROTOCOL,
      `${ENGINE}|${SESSIONS}|${COURSE}|${WEB}|${ROOT}|${UI}`,
    ),
    {
      name: 'protocol-no-node',
      comment: 'protocol is bundled into the browser: no node: modules',
      severity: 'error',
      from: { path: PROTOCOL, pathNot: TEST },
      to: { dependencyTypes: ['core'] },
    },
    rule(
      'engine-below-sessions',
      'the engine (with native-bindings, boxfs, rootfs, xray samplers) knows no session, course, web or root',
      ENGINE,
      `${SESSIONS}|${COURSE}|${WEB}|${ROOT}|${UI}`,
    ),
    rule('sessions-below-course', 'sessions know no course, web or root', SESSIONS, `${COURSE}|${WEB}|${ROOT}|${UI}`),
    rule(
      'course-below-web',
      'lessons and classroom add routes through server/sessions/routes.ts, never by importing web or root',
      COURSE,
      `${WEB}|${ROOT}|${UI}`,
    ),
    rule(
      'transport-only-in-web',
      'below web nothing speaks HTTP or WebSocket: routes get plain requests and sockets (server/sessions/routes.ts)',
      `${SESSIONS}|${COURSE}`,
      '^(http|https|http2|net|tls)$|(^|/)node_modules/ws/',
    ),
    rule('web-sees-no-course', 'web serves routes it is handed; the root wires the course in', WEB, `${COURSE}|${ROOT}|${UI}`),
    rule('root-no-ui', 'the server does not import the front end', ROOT, UI),
    rule('ui-imports-protocol-only', 'components and app import server code only from server/protocol', UI, SERVER_BUT_PROTOCOL),
    {
      name: 'koffi-only-in-native-bindings',
      comment: 'only native-bindings/ calls libc through koffi; the engine takes its kernel layer as a parameter',
      severity: 'error',
      from: { pathNot: '^native-bindings/' },
      to: { path: '(^|/)node_modules/koffi/' },
    },
    rule('no-test-code-in-product', 'product code never imports tests, testing/ helpers, fakes, bench, e2e or scripts', '.', TEST),
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve is an edge the rules cannot see',
      severity: 'error',
      from: {},
      // mdast is a types-only package (@types/mdast): nothing to resolve at run time.
      to: { couldNotResolve: true, pathNot: '^mdast$' },
    },
  ],
  options: {
    // npm packages stay in the graph as leaves (rules can name them: ws), but are not cruised.
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(\\.next|out|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports are edges too (a component importing an engine type still ties it to the engine).
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
  },
};

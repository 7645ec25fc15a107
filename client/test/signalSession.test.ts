import { describe, expect, it, vi } from 'vitest';
import { SignalError } from '../src/services/signalling';
import { useSignalSession, type SessionHandlers } from '../src/composables/meeting/useSignalSession';
import { AUTH, deferred, FakeConnection } from './fakes';

/** A session over fake connections (the real server is exercised by the e2e tests). */
function harness(connections: FakeConnection[], overrides: Partial<SessionHandlers> = {}) {
  const waits: number[] = [];
  const events: string[] = [];
  let clock = 0;
  let next = 0;
  const handlers: SessionHandlers = {
    async setUp(s) {
      events.push('setUp');
      await s.conn.request('join', { rtpCapabilities: {} });
    },
    notify: (_s, n) => events.push(`notify:${n.event}`),
    teardown: () => events.push('teardown'),
    ended: () => events.push('ended'),
    ...overrides,
  };
  const session = useSignalSession(handlers, {
    connect: async () => {
      const conn = connections[next++];
      if (!conn) throw new SignalError('NETWORK', "Can't reach the server.");
      return conn.asConnection();
    },
    now: () => clock,
    wait: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
  });
  return { session, waits, events, advance: (ms: number) => (clock += ms) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('the signalling session (fake connections)', () => {
  it('join: idle → joining → joined, after authenticate and the set-up', async () => {
    const conn = new FakeConnection({ authenticate: AUTH });
    const { session, events } = harness([conn]);
    const joining = session.join({ token: 't', roomId: 'r1', role: 'guest' });
    expect(session.state.value).toBe('joining');
    await joining;
    expect(session.state.value).toBe('joined');
    expect(conn.sent.map((m) => m.type)).toEqual(['authenticate', 'join']);
    expect(conn.sent[0]?.data).toEqual({ token: 't', roomId: 'r1' });
    expect(events).toEqual(['setUp']);
  });

  it('a refusal that another try will not fix ends the meeting with its words', async () => {
    const conn = new FakeConnection({ authenticate: new SignalError('WRONG_ROOM', 'Your access is for a different meeting. Open the link again.') });
    const { session, events } = harness([conn]);
    await session.join({ token: 't', role: 'guest' });
    expect(session.state.value).toBe('closed');
    expect(session.error.value).toMatch(/different meeting/);
    expect(events).toContain('ended');
  });

  it('an expired guest token says the invitation expired', async () => {
    const conn = new FakeConnection({ authenticate: new SignalError('TOKEN_EXPIRED', 'expired') });
    const { session } = harness([conn]);
    await session.join({ token: 't', role: 'guest' });
    expect(session.error.value).toMatch(/invitation has expired/);
  });

  it('a dropped socket reconnects with backoff (1 s, 2 s, ...) and comes back joined', async () => {
    const first = new FakeConnection({ authenticate: AUTH });
    const failing = new FakeConnection({ authenticate: new SignalError('MEDIA_UNAVAILABLE', 'busy') });
    const third = new FakeConnection({ authenticate: AUTH });
    const { session, waits, events } = harness([first, failing, third]);
    await session.join({ token: 't', role: 'guest' });
    first.drop(1006);
    expect(session.state.value).toBe('reconnecting');
    expect(session.error.value).toMatch(/Reconnecting/);
    await vi.waitFor(() => expect(session.state.value).toBe('joined'));
    expect(waits).toEqual([1000, 2000]);
    expect(session.error.value).toBeNull();
    expect(events.filter((e) => e === 'teardown').length).toBeGreaterThanOrEqual(2);
  });

  it('reconnecting gives up after about two minutes and says so', async () => {
    const first = new FakeConnection({ authenticate: AUTH });
    const { session, waits } = harness([first]); // every later connect fails: NETWORK
    await session.join({ token: 't', role: 'guest' });
    first.drop();
    await vi.waitFor(() => expect(session.state.value).toBe('closed'));
    expect(session.error.value).toMatch(/couldn't reconnect/);
    expect(waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(120_000);
    expect(waits.length).toBeGreaterThan(5);
  });

  it('a host whose room token expired while away gets a new one and goes again at once', async () => {
    const first = new FakeConnection({ authenticate: AUTH });
    const expired = new FakeConnection({ authenticate: new SignalError('TOKEN_EXPIRED', 'expired') });
    const fresh = new FakeConnection({ authenticate: (d: unknown) => ((d as { token: string }).token === 'renewed' ? AUTH : new SignalError('TOKEN_INVALID', 'x')) });
    const { session, waits } = harness([first, expired, fresh]);
    await session.join({ token: 'old', role: 'host', renewToken: async () => 'renewed' });
    first.drop();
    await vi.waitFor(() => expect(session.state.value).toBe('joined'));
    expect(waits).toEqual([1000, 0]);
  });

  it('a superseded join: leaving while authenticate is pending closes at once, and the late answer changes nothing', async () => {
    const answer = deferred<unknown>();
    const conn = new FakeConnection({ authenticate: () => answer.promise });
    const setUp = vi.fn(async () => undefined);
    const { session } = harness([conn], { setUp });
    const joining = session.join({ token: 't', role: 'guest' });
    await flush();
    await session.leave();
    expect(session.state.value).toBe('closed');
    answer.resolve(AUTH);
    await joining;
    expect(setUp).not.toHaveBeenCalled();
    expect(session.state.value).toBe('closed');
    expect(session.error.value).toBeNull();
  });

  it('the server closing the session (another tab joined) ends it with the reason; a restart reconnects', async () => {
    const a = new FakeConnection({ authenticate: AUTH });
    const { session } = harness([a]);
    await session.join({ token: 't', role: 'guest' });
    a.notify({ event: 'closing', data: { code: 'REPLACED', message: 'other tab' } });
    expect(session.state.value).toBe('closed');
    expect(session.error.value).toMatch(/another tab/);

    const b = new FakeConnection({ authenticate: AUTH });
    const c = new FakeConnection({ authenticate: AUTH });
    const again = harness([b, c]);
    await again.session.join({ token: 't', role: 'guest' });
    b.notify({ event: 'closing', data: { code: 'SERVER_RESTARTING', message: 'restarting' } });
    expect(again.session.state.value).toBe('reconnecting');
    await vi.waitFor(() => expect(again.session.state.value).toBe('joined'));
  });

  it('notifications other than closing go to the handlers, only from the current session', async () => {
    const a = new FakeConnection({ authenticate: AUTH });
    const b = new FakeConnection({ authenticate: AUTH });
    const { session, events } = harness([a, b]);
    await session.join({ token: 't', role: 'guest' });
    a.notify({ event: 'activeSpeaker', data: { peerId: null } });
    a.drop();
    await vi.waitFor(() => expect(session.state.value).toBe('joined'));
    a.notify({ event: 'peerLeft', data: { peerId: 'x' } }); // the old socket: ignored
    b.notify({ event: 'peerLeft', data: { peerId: 'y' } });
    expect(events.filter((e) => e.startsWith('notify:'))).toEqual(['notify:activeSpeaker', 'notify:peerLeft']);
  });

  it('join is refused unless idle, and reset goes back to idle only from closed', async () => {
    const conn = new FakeConnection({ authenticate: AUTH });
    const { session } = harness([conn]);
    expect(session.reset()).toBe(false);
    await session.join({ token: 't', role: 'guest' });
    await session.join({ token: 't2', role: 'guest' });
    expect(conn.sent.filter((m) => m.type === 'authenticate')).toHaveLength(1);
    await session.leave();
    expect(session.reset()).toBe(true);
    expect(session.state.value).toBe('idle');
  });
});

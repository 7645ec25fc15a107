/**
 * The signed-in host or admin. One session per tab, shared by every component: the token lives in
 * localStorage ('onair.session') so a reload keeps you signed in.
 */
import { computed, readonly, ref } from 'vue';
import { LoginReply, User } from '@onair/shared';
import { ApiError, api, setSessionToken } from '../services/api';

const STORAGE_KEY = 'onair.session';

function readStoredToken(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled (private mode, policy)
  }
}

function storeToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(STORAGE_KEY, token);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: the session lasts until the tab closes
  }
}

const token = ref<string | null>(readStoredToken());
const user = ref<User | null>(null);
/** 'unknown' until /api/auth/me answered (or there is no token). */
const status = ref<'unknown' | 'signedIn' | 'signedOut'>(token.value ? 'unknown' : 'signedOut');
let loading: Promise<User | null> | null = null;

setSessionToken(token.value);

function setSession(next: string | null, nextUser: User | null): void {
  token.value = next;
  user.value = nextUser;
  status.value = next && nextUser ? 'signedIn' : next ? 'unknown' : 'signedOut';
  setSessionToken(next);
  storeToken(next);
}

// Another tab signed in or out: follow it.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (ev) => {
    if (ev.key !== STORAGE_KEY) return;
    setSession(ev.newValue, null);
    if (ev.newValue) void loadUser();
  });
}

/** Fetches the current user once per token; a refused token signs out. */
async function loadUser(): Promise<User | null> {
  if (!token.value) return null;
  if (user.value) return user.value;
  if (loading) return loading;
  const requested = token.value;
  loading = api
    .get('/api/auth/me', User)
    .then((me) => {
      if (token.value === requested) {
        user.value = me;
        status.value = 'signedIn';
      }
      return me;
    })
    .catch((err: unknown) => {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        if (token.value === requested) setSession(null, null);
        return null;
      }
      throw err;
    })
    .finally(() => {
      loading = null;
    });
  return loading;
}

async function signIn(email: string, password: string): Promise<User> {
  const reply = await api.post('/api/auth/login', { email, password }, LoginReply);
  setSession(reply.token, reply.user);
  return reply.user;
}

function signOut(): void {
  setSession(null, null);
}

export function useAuth() {
  return {
    token: readonly(token),
    user: readonly(user),
    status: readonly(status),
    isSignedIn: computed(() => token.value !== null),
    isAdmin: computed(() => user.value?.role === 'admin'),
    loadUser,
    signIn,
    signOut,
  };
}

'use client';

import { type FormEvent, useEffect, useState } from 'react';
import { useChatContext } from 'stream-chat-react';

import { Dialog, ErrorText } from '@/components/Dialog';
import { api, type User } from '@/lib/api';
import { messageOf } from '@/lib/errors';
import { useSession } from '@/lib/session';
import { useDebounced } from '@/lib/hooks';

import { channelWhenSynced } from './openChannel';

const MAX_OTHERS = 8;

/** Start a one-to-one or small-group conversation with colleagues from the directory. */
export function NewConversation({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { user } = useSession();
  const { client, setActiveChannel } = useChatContext();
  const [search, setSearch] = useState('');
  const [results, setResults] = useState<User[]>([]);
  const [picked, setPicked] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const term = useDebounced(search);

  useEffect(() => {
    if (!open) return;
    let current = true;
    api
      .users({ search: term || undefined, is_active: true, page_size: 20 })
      .then((page) => current && setResults(page.results.filter((person) => person.id !== user.id)))
      .catch((caught: unknown) => current && setError(messageOf(caught)));
    return () => {
      current = false;
    };
  }, [open, term, user.id]);

  const close = () => {
    setSearch('');
    setPicked([]);
    setError(null);
    setBusy(false);
    onClose();
  };

  const toggle = (person: User) =>
    setPicked((now) => (now.some((p) => p.id === person.id) ? now.filter((p) => p.id !== person.id) : [...now, person]));

  const start = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const channel = await api.directStart(picked.map((person) => person.id));
      await setActiveChannel(await channelWhenSynced(client, channel.cid, user.chat_user_id));
      close();
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  };

  return (
    <Dialog title="New conversation" open={open} onClose={close}>
      <form className="form" onSubmit={start}>
        <label className="field">
          <span>Find people</span>
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name or email" />
        </label>
        {picked.length > 0 && (
          <p className="picked" aria-live="polite">
            With: {picked.map((person) => person.full_name || person.email).join(', ')}
          </p>
        )}
        <fieldset className="people">
          <legend className="visually-hidden">People</legend>
          {results.length === 0 && <p className="muted">Nobody matches.</p>}
          {results.map((person) => (
            <label key={person.id} className="people__person">
              <input
                type="checkbox"
                checked={picked.some((p) => p.id === person.id)}
                disabled={!picked.some((p) => p.id === person.id) && picked.length >= MAX_OTHERS}
                onChange={() => toggle(person)}
              />
              <span>{person.full_name || person.email}</span>
              <span className="muted">{person.email}</span>
            </label>
          ))}
        </fieldset>
        <ErrorText error={error} />
        <button type="submit" className="button button--primary" disabled={busy || picked.length === 0}>
          {busy ? 'Starting…' : 'Start conversation'}
        </button>
      </form>
    </Dialog>
  );
}

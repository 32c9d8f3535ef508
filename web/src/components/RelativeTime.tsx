// A timestamp shown as "5 minutes ago", exact on hover and for assistive tech.
import { relativeTime } from '../format.js';
import { useNow } from '../hooks.js';

export function RelativeTime({ iso }: { iso: string }) {
  const now = useNow();
  return (
    <time dateTime={iso} title={iso}>
      {relativeTime(iso, now)}
    </time>
  );
}

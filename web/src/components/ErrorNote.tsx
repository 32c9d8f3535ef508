// An error from the API, announced to screen readers as it appears.
export function ErrorNote({ message, id }: { message: string | null | undefined; id?: string }) {
  if (!message) return null;
  return (
    <p className="error-note" role="alert" id={id}>
      {message}
    </p>
  );
}

"""GraphQL subscriptions: appointment notices over LISTEN/NOTIFY, over graphql-transport-ws."""

//! hdon-tools

pub mod econnecteur;

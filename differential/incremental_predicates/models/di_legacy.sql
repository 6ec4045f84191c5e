{{ rows() }}

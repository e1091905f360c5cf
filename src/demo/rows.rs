//! What the demo is made with: a deterministic dice, and INSERTs of many rows at once.

/// Rows per INSERT statement (well under both databases' limits on parameters).
const ROWS_PER_STATEMENT: usize = 400;

/// A small deterministic generator (xorshift64*): the same demo every time.
pub struct Dice(pub u64);

impl Dice {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An index into `weights`, chosen in proportion to them.
    pub fn weighted(&mut self, weights: &[usize]) -> usize {
        let mut roll = self.below(weights.iter().sum());
        for (index, weight) in weights.iter().enumerate() {
            if roll < *weight {
                return index;
            }
            roll -= weight;
        }
        weights.len() - 1
    }
}

/// Values for one INSERT of many rows, with `$n` placeholders numbered as they go.
pub enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    Bool(bool),
}

pub async fn insert_rows(tx: &mut crate::db::Tx, head: &str, width: usize, rows: Vec<Vec<Value>>) -> sqlx::Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(head);
        sql.push_str(" VALUES ");
        let mut parameter = 0;
        for (index, _) in chunk.iter().enumerate() {
            if index > 0 {
                sql.push(',');
            }
            sql.push('(');
            for column in 0..width {
                parameter += 1;
                if column > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("${parameter}"));
            }
            sql.push(')');
        }
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for value in row {
                query = match value {
                    Value::Int(v) => query.bind(*v),
                    Value::OptInt(v) => query.bind(*v),
                    Value::Text(v) => query.bind(v.as_str()),
                    Value::Bool(v) => query.bind(*v),
                };
            }
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
